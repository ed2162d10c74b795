(function(){
var t=document.getElementById('notes');if(!t||!t.tBodies.length)return;
var body=t.tBodies[0],ths=t.tHead.rows[0].cells;
function key(tr,k){var v=tr.getAttribute('data-'+k);return k==='file'?(v||''):parseFloat(v);}
for(var i=0;i<ths.length;i++)(function(th){
 var k=th.getAttribute('data-sort');if(!k)return;
 var b=document.createElement('button');b.type='button';b.className='sort';
 while(th.firstChild)b.appendChild(th.firstChild);th.appendChild(b);
 b.addEventListener('click',function(){
  var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
  for(var j=0;j<ths.length;j++)ths[j].removeAttribute('aria-sort');
  th.setAttribute('aria-sort',dir===1?'ascending':'descending');
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,c){var x=key(a,k),y=key(c,k);
   if(x<y)return -dir;if(x>y)return dir;return key(a,'order')-key(c,'order');});
  rows.forEach(function(r){body.appendChild(r);});
 });
})(ths[i]);
document.documentElement.className+=' js';

/* Filters and the CSV download: the rows' summary.csv cells are in #rows-data (no server needed). */
var form=document.getElementById('filters'),src=document.getElementById('rows-data');
if(!form||!src)return;
var data;try{data=JSON.parse(src.textContent);}catch(e){return;}
var F=data.fields,R=data.rows,items=data.items,LBL=data.labels||{},GAP={partial:1,missing:1,conflict:1};
t.addEventListener('mouseover',function(e){
 var td=e.target&&e.target.closest?e.target.closest('td.it'):null;if(!td||td.title)return;
 var m=/\bs-(\w+)/.exec(td.className),ab=ths[td.cellIndex]&&ths[td.cellIndex].querySelector('abbr');
 if(m)td.title=(ab?ab.title+': ':'')+(LBL[m[1]]||m[1]);
});
function col(n){return F.indexOf(n);}
var cV=col('verdict'),cR=col('verdict_reason'),cE=col('error'),cA=col('advisories'),cF=col('file'),cI=col('id'),cC=col('case');
var itemCols=items.map(col),trs=[],recs=[];
Array.prototype.forEach.call(body.rows,function(tr){trs[+tr.getAttribute('data-order')]=tr;});
R.forEach(function(r,n){
 recs[n]={v:r[cE]?'error':r[cV],r:r[cE]?'':r[cR],st:itemCols.map(function(c){return r[c]||'';}),
  a:r[cA]?r[cA].split(';').map(function(s){return s.trim();}):[],q:[r[cF],r[cI],r[cC]].join(' ').toLowerCase()};
});
function status(st,want){return want==='gap'?!!GAP[st]:st===want;}
/* "kind:code" one advisory; "kind:" the kind without a code; "kind" any advisory of the kind */
function advisory(list,want){
 var bare=want.charAt(want.length-1)===':',kind=want.indexOf(':')<0;
 for(var i=0;i<list.length;i++){var a=list[i];
  if(a===want||(bare&&a===want.slice(0,-1))||(kind&&a.split(':')[0]===want))return true;}
 return false;
}
function matches(x,f){
 if(f.verdict&&x.v!==f.verdict)return false;
 if(f.reason&&x.r!==f.reason)return false;
 if(f.status){
  var idx=f.item?[items.indexOf(f.item)]:itemCols.map(function(_,i){return i;}),ok=false;
  for(var i=0;i<idx.length&&!ok;i++)ok=status(x.st[idx[i]],f.status);
  if(!ok)return false;
 }
 if(f.advisory&&!advisory(x.a,f.advisory))return false;
 return !f.q||x.q.indexOf(f.q)>=0;
}
var out=document.getElementById('shown'),link=document.getElementById('download');
function el(n){return form.elements.namedItem(n);} /* not elements.item: that is a method */
function current(){
 return {verdict:el('verdict').value,reason:el('reason').value,item:el('item').value,status:el('status').value,advisory:el('advisory').value,q:el('q').value.trim().toLowerCase()};
}
function apply(){
 var f=current(),shown=0;
 recs.forEach(function(x,n){var tr=trs[n];if(!tr)return;var show=matches(x,f);if(tr.hidden===show)tr.hidden=!show;shown+=show?1:0;});
 out.textContent='Showing '+shown+' of '+recs.length+' note(s)';
 out.setAttribute('data-shown',shown);
}
function cell(s){s=s==null?'':String(s);return /[",\r\n]/.test(s)?'"'+s.replace(/"/g,'""')+'"':s;}
function csv(){
 var lines=[F.map(cell).join(',')];
 Array.prototype.forEach.call(body.rows,function(tr){
  if(!tr.hidden){var r=R[+tr.getAttribute('data-order')];if(r)lines.push(r.map(cell).join(','));}
 });
 return lines.join('\n')+'\n';
}
form.addEventListener('submit',function(e){e.preventDefault();});
form.addEventListener('input',apply);
form.addEventListener('change',function(e){
 if(e.target.name==='item'&&e.target.value&&!el('status').value)el('status').value='gap';
 apply();
});
form.addEventListener('reset',function(){setTimeout(apply,0);});
link.addEventListener('click',function(){link.href='data:text/csv;charset=utf-8,'+encodeURIComponent(csv());});
document.addEventListener('click',function(e){
 var a=e.target&&e.target.closest?e.target.closest('[data-drill]'):null;if(!a)return;
 form.reset();
 ['verdict','reason','item','status','advisory'].forEach(function(k){var v=a.getAttribute('data-f-'+k);if(v)el(k).value=v;});
 apply();
});
apply();
})();
